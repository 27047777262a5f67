# natter-load's stream scanner.
unit-tests += load_xml
unit-load_xml-srcs := tools/natter-load/xml.c
