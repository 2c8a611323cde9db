"""A demo website served by Clarion (/demo/site/) that loads the web SDK."""

urlpatterns = []
