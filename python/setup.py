"""Builds embedrank._embedrank with the repository's own CMake (the parent
directory is the project root), so `pip install ./python` compiles exactly
what `cmake --build` does.

Environment: CMAKE_BUILD_PARALLEL_LEVEL (parallel jobs), EMBEDRANK_CMAKE_ARGS
(extra -D options, e.g. -DEMBEDRANK_NATIVE=OFF for a wheel that runs on
other x86-64 CPUs; native code generation is the default).
"""
import os
import shlex
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        if not (ROOT / "CMakeLists.txt").is_file() or not (ROOT / "include" / "embedrank").is_dir():
            raise RuntimeError(f"{ROOT} is not the embedrank repository: build from a clone (pip install ./python)")
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}",
            "-DEMBEDRANK_BUILD_TESTS=OFF", "-DEMBEDRANK_BUILD_BENCHMARKS=OFF",
            "-DEMBEDRANK_BUILD_EXAMPLES=OFF", "-DEMBEDRANK_BUILD_SERVER=OFF", "-DEMBEDRANK_BUILD_PYTHON=ON",
        ] + shlex.split(os.environ.get("EMBEDRANK_CMAKE_ARGS", ""))
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_embedrank"], check=True)
        built = next((build_dir / "python" / "embedrank").glob("_embedrank*" + Path(target).suffix), None)
        if built is None:
            raise RuntimeError(f"the CMake build did not produce _embedrank in {build_dir / 'python' / 'embedrank'}")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built), str(target))


setup(ext_modules=[Extension("embedrank._embedrank", sources=[])], cmdclass={"build_ext": CMakeBuild})
