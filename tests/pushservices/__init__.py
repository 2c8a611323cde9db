"""Local push services that speak the real protocols, for tests (DESIGN.md "Push services in tests")."""
