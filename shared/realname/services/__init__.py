"""Real-name services: ``sessions`` (the flow; imports numpy), ``lockout``, ``directory`` (what other
capabilities read). Import the modules themselves: this package stays light for §3's registry step."""
