"""Neural-network modules and functional API."""
