"""The web SDK's endpoints (/sdk/v1/): publishable site key, Origin check, rate limit."""
