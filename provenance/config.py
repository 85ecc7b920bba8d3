"""The config file: ``provenance.toml``, ``--config PATH`` or ``[tool.provenance]`` in ``pyproject.toml``.

Keys are the commands' long option names (``host-interval = 0.5``,
``exclude = ["^https://x\\.com/"]``), at the top level or in a table per
command (``[audit]``). Nothing here lists the options: they are read from
the click commands themselves, so an option added to any command is a
config key at once.

The file's values become click's ``default_map``, and click already ranks
its sources the way users expect: command line > environment variable >
``default_map`` (the file) > the option's default.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

#: Read from the working directory when no ``--config`` is given.
CONFIG_NAME = "provenance.toml"
#: The table of ``pyproject.toml`` read when there is no ``provenance.toml``.
PYPROJECT_TABLE = ("tool", "provenance")
#: Environment variable naming a config file (as ``--config`` does).
CONFIG_ENV = "PROVENANCE_CONFIG"
#: Parameters that are not settings: help, the version flag, the config option itself.
NOT_SETTINGS = frozenset({"help", "version", "config"})
#: Keys whose values are regular expressions: checked when the file is read, so the error names the file.
REGEX_KEYS = frozenset({"exclude", "include"})


class ConfigError(Exception):
    """The config file cannot be used: one line naming the file, the key or line, and the problem."""


@dataclass
class Config:
    """What a config file says, ready for click."""

    #: The file read, or None when there is none.
    path: Path | None = None
    #: "" for provenance.toml / --config, "tool.provenance" for pyproject.toml.
    table: str = ""
    #: command name -> {parameter name -> value}: click's ``default_map``.
    default_map: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (command, parameter name) -> where the value was written ("provenance.toml", "provenance.toml [audit]").
    origins: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class Setting:
    """One effective setting of one command, and where it came from."""

    command: str
    key: str
    value: Any
    #: "command line" is never seen here; "environment (VAR)", "config file (PATH)" or "default".
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "key": self.key, "value": _plain(self.value), "source": self.source}


def option_key(param: click.Parameter) -> str:
    """The name a setting has in the file: the long option name without dashes, else the parameter's name."""
    longs = [o[2:] for o in getattr(param, "opts", []) if o.startswith("--")]
    return max(longs, key=len) if longs else (param.name or "")


def settings_of(command: click.Command) -> dict[str, click.Parameter]:
    """key -> parameter for every setting a command takes (options and arguments, not --help)."""
    out = {}
    for param in command.params:
        if param.name in NOT_SETTINGS:
            continue
        out[option_key(param)] = param
    return out


def find_config(explicit: str | Path | None, cwd: Path, environ: Mapping[str, str] | None = None) -> tuple[Path, str] | None:
    """The file to read and its table: --config, else $PROVENANCE_CONFIG, else ./provenance.toml, else pyproject's."""
    environ = os.environ if environ is None else environ
    chosen = explicit or environ.get(CONFIG_ENV) or None
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found" if not path.exists() else f"config {path} is not a file")
        return path, ".".join(PYPROJECT_TABLE) if path.name == "pyproject.toml" else ""
    local = cwd / CONFIG_NAME
    if local.is_file():
        return Path(CONFIG_NAME), ""
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = _read_toml(Path("pyproject.toml"), cwd)
        except ConfigError:
            # A broken pyproject.toml with no say over us is not our error; one with our table is.
            if re.search(r"(?m)^\s*\[\s*tool\s*\.\s*provenance\b", _text(Path("pyproject.toml"), cwd)):
                raise
            return None
        if isinstance(data.get(PYPROJECT_TABLE[0]), dict) and PYPROJECT_TABLE[1] in data[PYPROJECT_TABLE[0]]:
            return Path("pyproject.toml"), ".".join(PYPROJECT_TABLE)
    return None


def load_config(commands: Mapping[str, click.Command], explicit: str | Path | None = None,
                cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check the config file against the commands' settings; an empty Config when there is none."""
    cwd = Path(cwd or os.getcwd())
    found = find_config(explicit, cwd, environ)
    if found is None:
        return Config()
    path, table = found
    data = _read_toml(path, cwd)
    if table:
        data = data.get(PYPROJECT_TABLE[0], {}).get(PYPROJECT_TABLE[1], {})
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [{table}] must be a table")
    text = _text(path, cwd)
    config = Config(path=path, table=table)
    where = f"{path}" + (f" [{table}]" if table else "")
    takes = {name: settings_of(cmd) for name, cmd in commands.items()}
    every_key = {key for keys in takes.values() for key in keys}
    for key, value in data.items():
        if isinstance(value, dict) and key in commands:
            for sub, subvalue in value.items():
                params = takes[key]
                if sub not in params:
                    raise ConfigError(_unknown(path, text, sub, list(params), f"'{key}' does not take it",
                                              section=f"{table + '.' if table else ''}{key}"))
                config.default_map.setdefault(key, {})[params[sub].name] = _coerce(path, text, sub, subvalue, params[sub])
                config.origins[(key, params[sub].name)] = f"{where} [{table + '.' if table else ''}{key}]"
            continue
        if isinstance(value, dict) and key not in every_key:
            raise ConfigError(_unknown(path, text, key, list(every_key) + list(commands),
                                       "it is neither a command nor an option", table=True))
        if key not in every_key:
            raise ConfigError(_unknown(path, text, key, list(every_key), "no command takes it"))
        for name, params in takes.items():
            if key in params:
                param = params[key]
                config.default_map.setdefault(name, {}).setdefault(param.name, _coerce(path, text, key, value, param))
                config.origins.setdefault((name, param.name), where)
    # The environment outranks the file even when it says "" (PROVENANCE_ARCHIVES="" turns the archives
    # off); click ignores an empty variable, so the file's value must step aside here.
    environ = os.environ if environ is None else environ
    for name, params in takes.items():
        for param in params.values():
            if _env_hit(param, environ) is not None:
                config.default_map.get(name, {}).pop(param.name, None)
    return config


def _env_hit(param: click.Parameter, environ: Mapping[str, str]) -> str | None:
    """The first of the option's environment variables that is set (empty counts), else None."""
    envvars = param.envvar if isinstance(param.envvar, (list, tuple)) else [param.envvar] if param.envvar else []
    return next((v for v in envvars if v in environ), None)


#: Settings the network layer (network.py) takes from the environment when neither the command line nor the
#: file gives them: key -> the variables, each read in lower then upper case, as curl and network.py read them.
ENV_FALLBACKS: dict[str, tuple[str, ...]] = {
    "proxy": ("http_proxy", "https_proxy", "all_proxy", "no_proxy"),
    "ca-bundle": ("SSL_CERT_FILE",),
}


def _env_fallback(key: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """``(value, source)`` of a setting the environment supplies (ENV_FALLBACKS), or None when it supplies none.

    The proxy is several variables: each one set is shown as ``NAME=value`` (a proxy's password left out).
    """
    from .network import shown

    found: list[tuple[str, str]] = []
    for base in ENV_FALLBACKS.get(key, ()):
        for name in dict.fromkeys((base.lower(), base.upper()) if base != "SSL_CERT_FILE" else (base,)):
            value = environ.get(name, "").strip()
            if value:
                found.append((name, value if "://" not in value else shown(value)))
                break
    if not found:
        return None
    names = ", ".join(name for name, _v in found)
    if key == "ca-bundle":
        return found[0][1], f"environment ({names})"
    return ", ".join(f"{name}={value}" for name, value in found), f"environment ({names})"


def effective_settings(commands: Mapping[str, click.Command], config: Config,
                       environ: Mapping[str, str] | None = None) -> list[Setting]:
    """Every command's settings as a run would see them (without a command line), with their source."""
    environ = os.environ if environ is None else environ
    out: list[Setting] = []
    for name, cmd in commands.items():
        for key, param in settings_of(cmd).items():
            env_hit = _env_hit(param, environ)
            if env_hit is not None:
                value, source = environ[env_hit], f"environment ({env_hit})"
            elif param.name in config.default_map.get(name, {}):
                value, source = config.default_map[name][param.name], f"config file ({config.origins[(name, param.name)]})"
            else:
                default = param.default() if callable(param.default) else param.default
                value, source = default, "default"
                if default is None and key in ENV_FALLBACKS:  # unset here: the network layer reads the environment
                    value, source = _env_fallback(key, environ) or (value, source)
            out.append(Setting(name, key, value, source))
    return out


# --------------------------------------------------------------------------- reading and checking


def _read_toml(path: Path, cwd: Path) -> dict[str, Any]:
    full = path if path.is_absolute() else cwd / path
    try:
        with open(full, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "Expected '=' after a key in a key/value pair (at line 3, column 8)": lead with the line.
        message = str(exc)
        at = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        if at:
            problem = message[:at.start()].strip()
            raise ConfigError(f"{path}:{at.group(1)}:{at.group(2)}: not valid TOML: {problem}") from None
        raise ConfigError(f"{path}: not valid TOML: {message}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None


def _text(path: Path, cwd: Path) -> str:
    try:
        return (path if path.is_absolute() else cwd / path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _line_of(text: str, key: str, table: bool = False) -> str:
    """":LINE" of the key's first appearance in the file (for the message), or ""."""
    quoted = rf"(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')"
    pattern = rf"^\s*\[\s*(?:[\w.\"'-]+\.)?{quoted}\s*\]" if table else rf"^\s*(?:[\w\"'-]+\.)?{quoted}\s*="
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(pattern, line):
            return f":{number}"
    return ""


def _unknown(path: Path, text: str, key: str, known: list[str], why: str, section: str = "", table: bool = False) -> str:
    import difflib  # only for this message

    near = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    place = f" in [{section}]" if section else ""
    return f"{path}{_line_of(text, key, table)}: unknown key '{key}'{place}: {why}{hint}"


def _kind(param: click.Parameter) -> tuple[type | tuple[type, ...], str]:
    """The TOML types a parameter accepts, and how to say it."""
    kind = param.type
    if isinstance(kind, click.types.BoolParamType) or getattr(param, "is_flag", False) and not isinstance(
            kind, (click.types.IntParamType, click.types.FloatParamType, click.types.StringParamType)):
        return bool, "true or false"
    if isinstance(kind, click.types.IntParamType):
        return int, "an integer"
    if isinstance(kind, click.types.FloatParamType):
        return (int, float), "a number"  # an integer where a number is expected is fine
    return str, "a string"


def _many(param: click.Parameter) -> bool:
    return bool(getattr(param, "multiple", False)) or param.nargs == -1


def _coerce(path: Path, text: str, key: str, value: Any, param: click.Parameter) -> Any:
    """The value checked against the option's type and limits; a ConfigError naming the key otherwise."""
    accepted, words = _kind(param)
    many = _many(param)
    items = value if many and isinstance(value, list) else [value] if many else None
    where = f"{path}{_line_of(text, key)}"
    if items is None:
        items = [value]
    elif not items and many:
        return []
    for item in items:
        if isinstance(item, bool) and accepted is not bool or not isinstance(item, accepted):
            shown = f"a list of {words.replace('an ', '').replace('a ', '')}s" if many else words
            raise ConfigError(f"{where}: '{key}' must be {shown}, not {_describe(value)}")
    converted = []
    for item in items:
        try:
            converted.append(param.type.convert(item, param, None))
        except click.BadParameter as exc:
            raise ConfigError(f"{where}: '{key}' = {_plain(item)!r}: {exc.message}") from None
    if key in REGEX_KEYS:
        from .filters import compile_patterns

        try:
            compile_patterns(items, key)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if many:
        return items
    return items[0]


def _describe(value: Any) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({_plain(value)!r})" if not isinstance(value, (list, dict)) \
        else names[type(value)]


def _plain(value: Any) -> Any:
    """A value as JSON can show it (paths as strings, tuples as lists)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
