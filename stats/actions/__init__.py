"""What changes stats: tracking views and clicks, crediting conversions, rolling up."""
