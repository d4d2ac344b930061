"""The course's own exception types: each message says what went wrong and what to do."""


class CourseError(Exception):
    """Base class for errors a learner can cause and fix."""


class DatasetError(CourseError):
    """Data is missing, corrupt, or cannot be fetched."""


class ImageError(CourseError):
    """An image cannot be read or does not look like a digit."""


class LabelsError(CourseError):
    """A set of labelled images (a CSV file or a folder of digit folders) cannot be used."""


class ModelError(CourseError):
    """A model file is missing or is not a valid Keras model."""


class UsageError(CourseError):
    """A command-line argument that cannot work, such as an output path that is a folder."""
