# nbgrader configuration of the mnist-keras-course (run nbgrader commands from this folder).
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "mnist-keras-course"
c.CourseDirectory.root = "."

# The nine assignments, in teaching order.
ASSIGNMENTS = [
    "01-loading-data",
    "02-reshaping",
    "03-one-hot-labels",
    "04-building-the-network",
    "05-training",
    "06-diagnosing-overfitting",
    "07-dropout",
    "08-gradient-descent-by-hand",
    "09-going-further",
]
c.CourseDirectory.db_assignments = [{"name": name} for name in ASSIGNMENTS]

# What the student release shows in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# While nbgrader executes a notebook it sets NBGRADER_EXECUTION, so mnistlib
# loads the quick-mode subset and every cell finishes in seconds. The timeout
# is per cell; a learner's endless loop is interrupted after it.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
