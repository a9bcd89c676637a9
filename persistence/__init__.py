"""Tables, the engine and the data-access functions. Every function takes ``account_id``."""
