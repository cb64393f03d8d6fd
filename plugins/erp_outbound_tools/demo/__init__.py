"""The demo: ``erp`` builds a demo ERP full of realistic documents, ``run`` is ``make demo``."""
