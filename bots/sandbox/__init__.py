"""A local stand-in for the X and Facebook APIs: see bots/sandbox/server.py."""

from bots.sandbox.faults import FAULT_KINDS, Fault
from bots.sandbox.scenario import REALISTIC, Rates, generate_scenario
from bots.sandbox.server import SandboxServer, start_sandbox
from bots.sandbox.world import World, load_world

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "REALISTIC",
    "Rates",
    "SandboxServer",
    "World",
    "generate_scenario",
    "load_world",
    "start_sandbox",
]
