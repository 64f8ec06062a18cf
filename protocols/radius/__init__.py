"""RADIUS for Jet: sans-IO codec, dictionaries, PAP/CHAP/MS-CHAPv2, UDP transports.

See README.md in this folder for the API the daemon uses. Nothing here imports Jet.
"""
