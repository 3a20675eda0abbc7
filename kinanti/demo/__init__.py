"""The demo city: the scripted reviewer and units (clearly labelled as scripted) that carry
the example proposals through the lifecycle for `make run`."""

from kinanti.demo.run import run_demo

__all__ = ["run_demo"]
