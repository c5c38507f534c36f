"""Only what pyproject.toml cannot say: the target-only Python of firmware/
(the boot script, the freeze manifest, the modules that import the
firmware's C modules _vcpu and _vm) is left out of the wheel. The host
imports the rest (the register table, pcpu on host_tools.sim, the device
tree and guest image builders) as host_tools.target."""
from setuptools import setup
from setuptools.command.build_py import build_py

TARGET_ONLY = {"_boot", "_flash", "_sdcard", "manifest", "vcpu", "vm"}


class BuildPy(build_py):
    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        if package != "host_tools.target":
            return modules
        return [m for m in modules if m[1] not in TARGET_ONLY]


setup(cmdclass={"build_py": BuildPy})
