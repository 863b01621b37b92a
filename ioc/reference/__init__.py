"""Reference data: administrative units, agencies and the procedure (TTHC) catalogue.

Why a separate package: the IOC must aggregate dossiers by territory and by agency across the
1 July 2025 reform (63 -> 34 provinces, districts abolished, 10,035 -> 3,321 communes; see
domain.md §5), and the simulator needs realistic codes. Territories, agencies and procedures
are three separate trees/catalogues, each effective-dated, so a dossier's *receiving point*,
*processing agency* and *applicant address* can be stored independently.

Importing this package is cheap: nothing is loaded until a function of a submodule is called
(``ioc.reference.units`` reads the ``vietnamadminunits`` data files on first use and caches).

Provenance, in short (details in each module's docstring):

* ``units`` — codes, names, types, centres and the old->new lineage come from the
  ``vietnamadminunits`` package (MIT licence, © 2025 Tran Ngoc Minh Hieu), read from its
  shipped data files; nothing is hand-typed.
* ``agencies`` — generated from ``units`` with a SAMPLE identifier scheme in the style of
  QCVN 102:2016/BTTTT (not the official identifiers).
* ``procedures`` — a SAMPLE catalogue (``procedures.yaml``); each entry states whether its code
  and name were verified against public secondary sources or are SAMPLE.
"""

from __future__ import annotations

__all__ = ["agencies", "procedures", "units"]
