"""erp-outbound's tools: the vendor sandbox, the demo ERP and ``make demo``, ``make airflow``, benchmarks.

Installed with the ``tools`` extra (``pip install 'erp-outbound[tools]'``; ``dev`` includes it). They
serve the demo, the tests and the benchmarks, and let an integrator develop mappings offline. The
runtime (``erp_outbound``) never imports them; the ``erp-outbound`` command finds their subcommands
through the ``erp_outbound.commands`` entry point.
"""
