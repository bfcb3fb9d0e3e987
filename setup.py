"""Only what pyproject.toml cannot say: the seed documents (seeds/) ship inside the wheel as
`rag/_seeds/`, the default corpus of an installed package (rag.config.default_corpus). The
checkout keeps them at seeds/, where tests, eval and bench find them."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["rag", "rag.*"]), "rag._seeds"],
    package_dir={"rag._seeds": "seeds"},
    package_data={"rag._seeds": ["*.txt"]},
)
