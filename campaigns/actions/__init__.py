"""Every change to a campaign that matters goes through one named function here, which
views, tasks, the admin and the API all call (STYLE.md)."""
