app_name = "sdk"
urlpatterns = []
