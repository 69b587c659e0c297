"""The FAQ: entries in the database, their administration, the search index that follows them."""
