"""The four steps every delivery DAG runs: extract, transform, load, reconcile."""
