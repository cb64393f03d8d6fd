"""erp-outbound: deliver ERP documents to procurement and EDI networks with Apache Airflow.

The runtime: ``core`` (verdicts, delivery, staging, run report), ``erp`` (the ERP side:
extract, claims, verdict journal, write-back, migrations), one package per vendor
(``procuros``, ``rambase``, ``gep``). The tools (sandbox, demo ERP, local Airflow,
benchmarks) live beside it in ``erp_outbound_tools`` and are never imported from here.
"""

__version__ = "0.1.0"
