"""The people of the sandbox tenant (seed 1) that tests act as."""

from __future__ import annotations

DEMO_PASSWORD = "Sandbox-Demo-2024!"

MEGAN = "megan.reyes@lumenhall.example"  # holds the Portal.Admin app role
DANIEL = "daniel.okafor@lumenhall.example"  # holds the Portal.Admin app role too
PRIYA = "priya.natarajan@lumenhall.example"
TOMAS = "tomas.lindqvist@lumenhall.example"
GRACE = "grace.whitfield@lumenhall.example"
SAMUEL = "samuel.ortega@lumenhall.example"
AIKO = "aiko.tanaka@lumenhall.example"
LENA = "lena.brandt@lumenhall.example"
MARCUS = "marcus.bell@lumenhall.example"
JORDAN_OTHER_TENANT = "jordan.hale@northpier.example"
