# The models of this app arrive with the issues that own them (see DESIGN.md).
