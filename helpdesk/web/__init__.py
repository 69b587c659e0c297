"""The aiohttp edge: staff UI, JSON API, public FAQ, health and metrics."""
