"""The Deliveries page: an Airflow 3 plugin in the Airflow UI, behind Airflow's own login.

- ``plugin``: what Airflow loads through the ``airflow.plugins`` entry point (FastAPI app, nav entry,
  the Test-button fix for our connection types);
- ``attention`` and ``runs``: what the page shows, from the ERP's verdict journal, Airflow's runs and
  the reports store;
- ``app``: the pages and their authorisation; ``links``: the reconcile tasks' extra link.
"""
