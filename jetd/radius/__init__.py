"""jetd's RADIUS service: the policy between the protocol package and the stores.

Small units with clear results, composed by ``service.RadiusService``, like
FreeRADIUS's rlm_* modules:

- ``names``: the realm and user from User-Name (``user@realm``, ``REALM\\user``)
- ``authn``: PAP, CHAP, MS-CHAPv2 against the account cache
- ``replies``: the Access-Accept's attributes from the plan and the account
- ``accounting``: Start/Interim/Stop into the quota store (or the spool)
"""
