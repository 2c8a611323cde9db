"""Write paths for the audience: each a verb that views, tasks, the API and the SDK call."""
