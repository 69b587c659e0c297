"""Email-specific use cases: acknowledgements, bounces and automatic mail kept aside."""
