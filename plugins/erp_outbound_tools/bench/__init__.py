"""``make bench``: throughput, latency and memory of the Procuros pipeline against the sandbox."""
