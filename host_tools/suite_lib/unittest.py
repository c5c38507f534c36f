# A small stand-in for micropython-lib's unittest, which MicroPython's Debian
# source leaves out (lib/micropython-lib is empty there). A few of
# MicroPython's own tests (extmod/machine1.py, marshal_micropython.py,
# ssl_noleak.py, vfs_rom.py) import unittest; run-tests.py judges them by the
# summary unittest.main() prints, so this prints that summary in the same form:
#
#   ----------------------------------------------------------------------
#   Ran N tests
#
#   OK            (or: OK (skipped=S), FAILED (failures=F, errors=E))
#
# It runs on the target: copied into the RAM filesystem before the suite (our
# firmware) or frozen (upstream's ports/qemu, as upstream freezes unittest).
import sys


class SkipTest(Exception):
    pass


class _AssertRaises:
    def __init__(self, exc):
        self.expected = exc
        self.exception = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        if exc_type is None:
            raise AssertionError("%r not raised" % (self.expected,))
        if issubclass(exc_type, self.expected):
            self.exception = exc_value
            return True
        return False


class TestCase:
    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    def setUp(self):
        pass

    def tearDown(self):
        pass

    def skipTest(self, reason):
        raise SkipTest(reason)

    def fail(self, msg=""):
        raise AssertionError(msg)

    def assertEqual(self, a, b, msg=None):
        if not a == b:
            raise AssertionError(msg or "%r != %r" % (a, b))

    def assertNotEqual(self, a, b, msg=None):
        if a == b:
            raise AssertionError(msg or "%r == %r" % (a, b))

    def assertTrue(self, x, msg=None):
        if not x:
            raise AssertionError(msg or "%r is not true" % (x,))

    def assertFalse(self, x, msg=None):
        if x:
            raise AssertionError(msg or "%r is not false" % (x,))

    def assertIs(self, a, b, msg=None):
        if a is not b:
            raise AssertionError(msg or "%r is not %r" % (a, b))

    def assertIsNot(self, a, b, msg=None):
        if a is b:
            raise AssertionError(msg or "%r is %r" % (a, b))

    def assertIsNone(self, x, msg=None):
        self.assertIs(x, None, msg)

    def assertIsNotNone(self, x, msg=None):
        self.assertIsNot(x, None, msg)

    def assertIn(self, a, b, msg=None):
        if a not in b:
            raise AssertionError(msg or "%r not in %r" % (a, b))

    def assertNotIn(self, a, b, msg=None):
        if a in b:
            raise AssertionError(msg or "%r in %r" % (a, b))

    def assertIsInstance(self, x, cls, msg=None):
        if not isinstance(x, cls):
            raise AssertionError(msg or "%r is not an instance of %r" % (x, cls))

    def assertAlmostEqual(self, a, b, places=7, msg=None):
        if round(abs(a - b), places) != 0:
            raise AssertionError(msg or "%r != %r within %d places" % (a, b, places))

    def assertRaises(self, exc, func=None, *args, **kwargs):
        ctx = _AssertRaises(exc)
        if func is None:
            return ctx
        with ctx:
            func(*args, **kwargs)


def skip(reason):
    def decorator(f):
        def skipped(*args, **kwargs):
            raise SkipTest(reason)
        return skipped
    return decorator


def skipIf(condition, reason):
    return skip(reason) if condition else (lambda f: f)


def skipUnless(condition, reason):
    return skipIf(not condition, reason)


def _run_case(cls, name, counts):
    print("%s (%s) ..." % (name, cls.__name__), end="")
    test = cls()
    try:
        test.setUp()
        try:
            getattr(test, name)()
        finally:
            test.tearDown()
        print(" ok")
    except SkipTest as e:
        print(" skipped:", e.args[0] if e.args else "")
        counts[3] += 1
    except AssertionError as e:
        print(" FAIL")
        sys.print_exception(e)
        counts[1] += 1
    except Exception as e:
        print(" ERROR")
        sys.print_exception(e)
        counts[2] += 1
    counts[0] += 1


def main(module="__main__"):
    if isinstance(module, str):
        module = __import__(module)
    counts = [0, 0, 0, 0]   # run, failures, errors, skipped
    for cname in dir(module):
        cls = getattr(module, cname)
        if isinstance(cls, type) and issubclass(cls, TestCase) and cls is not TestCase:
            try:
                cls.setUpClass()
            except Exception as e:
                print("setUpClass (%s) ... ERROR" % cls.__name__)
                sys.print_exception(e)
                counts[2] += 1
                continue
            for name in dir(cls):
                if name.startswith("test") and callable(getattr(cls, name)):
                    _run_case(cls, name, counts)
            cls.tearDownClass()
    print("-" * 70)
    print("Ran %d tests\n" % counts[0])
    if counts[1] or counts[2]:
        print("FAILED (failures=%d, errors=%d)" % (counts[1], counts[2]))
    elif counts[3]:
        print("OK (skipped=%d)" % counts[3])
    else:
        print("OK")
