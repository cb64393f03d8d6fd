"""The revisions, oldest first: ``0001`` adopts or creates the tables, ``0002`` makes times timestamps,
``0003`` gives claims and verdicts their DAG."""
