# Users and groups are in Django's own admin (django.contrib.auth). Capability has
# no table: its permissions are granted through the groups, not edited as rows.
