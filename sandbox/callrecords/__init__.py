"""Call records: Teams' record of every call and meeting, with its quality figures."""
