"""m2mdl: a resumable, verified downloader for Landsat data through the USGS M2M API."""

__version__ = "0.1.0"
