"""help() at the target's REPL shows this port's page, as other ports do:
its modules, how to start (pcpu.status(), a guest); help('modules') lists
every module the firmware has, the frozen ones included."""

PORT_MODULES = ("aarch64", "pcpu", "vcpu", "vm", "machine")


def test_help_names_this_ports_modules_and_how_to_start(target):
    text = target.exec("help()")
    assert text.startswith("Welcome to MicroPython at EL2")
    for name in PORT_MODULES:
        assert "\n  %s " % name in text, name
    assert "pcpu.status()" in text and "vm.VM(" in text and "help('modules')" in text


def test_every_module_the_page_names_is_importable_and_listed(target):
    listed = target.exec("help('modules')").split()
    for name in PORT_MODULES + ("fdt", "guest_image", "vm_devicetree", "sysregs", "os", "vfs"):
        assert name in listed, name
        target.exec("import %s" % name)
    assert "asyncio/core" in listed       # a frozen package is listed by its files
    target.exec("import asyncio")


def test_help_at_the_friendly_repl(console):
    console.send("help()\r")
    page = console.expect(">>> ")
    assert "Welcome to MicroPython at EL2" in page and "pcpu.status()" in page
