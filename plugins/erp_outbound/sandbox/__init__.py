"""Local emulators of the vendor APIs (Procuros, RamBase), with latency and fault switches."""

from .config import ProcurosConfig, RambaseConfig, SandboxConfig
from .server import SandboxRecord, SandboxServer, build_app, serve

__all__ = ["ProcurosConfig", "RambaseConfig", "SandboxConfig", "SandboxRecord", "SandboxServer", "build_app", "serve"]
