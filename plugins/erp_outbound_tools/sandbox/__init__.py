"""Local emulators of the vendor APIs (Procuros, RamBase, GEP SMART), with latency and fault switches."""

from .config import GepConfig, ProcurosConfig, RambaseConfig, SandboxConfig
from .server import SandboxRecord, SandboxServer, build_app, serve

__all__ = [
    "GepConfig",
    "ProcurosConfig",
    "RambaseConfig",
    "SandboxConfig",
    "SandboxRecord",
    "SandboxServer",
    "build_app",
    "serve",
]
