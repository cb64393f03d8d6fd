"""erp-outbound: deliver ERP documents to procurement and EDI networks with Apache Airflow.

Layout: ``core`` (verdicts, delivery loop, staging, run report), ``erp`` (the ERP side:
extract, claim, write back), one package per vendor (``procuros``), and ``sandbox``
(local emulators of the vendor APIs).
"""

__version__ = "0.1.0"
