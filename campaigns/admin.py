# Admin classes are registered here alongside the app's models.
