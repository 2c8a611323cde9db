"""One form module per wizard step; each form validates its step whole."""
