"""The calling bot: callback intake, reception line, call board, participant controls."""
