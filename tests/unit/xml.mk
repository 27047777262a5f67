unit-tests += xml
unit-xml-srcs := $(xml-srcs) $(core-srcs)
