"""The segments app's pages: the audience (profiles, imports, export) in ``audience``,
saved segments and their builder in ``segments``. ``segments/urls.py`` names them."""
