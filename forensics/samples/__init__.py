"""The bundled sample logs (package data) and the builder that writes them.

`python -m forensics.samples.build` regenerates every sample deterministically; see
`README.md` in this folder for what each file holds. Modules named `_*` are the builder's
parts; `forensics.demo.sample_paths` skips them.
"""
