"""The campaign pages: one module per wizard step (start, who, when, what, setup,
overview), the list, and a campaign's own page. Each module declares its own
``urlpatterns``; ``campaigns/urls.py`` joins them."""
