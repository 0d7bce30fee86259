"""Grafana target, units: the unit ids Grafana's panels know (its value formats, by category as
its unit picker lists them), and the custom forms it also reads."""
from __future__ import annotations

UNIT_IDS: frozenset[str] = frozenset("""
none string short percent percentunit humidity dB hex0x hex sci locale pixel
accMS2 accFS2 accG
degree radian grad arcmin arcsec
areaM2 areaF2 areaMI2
flops mflops gflops tflops pflops eflops zflops yflops
ppm conppb conngm3 conngNm3 conμgm3 conμgNm3 conmgm3 conmgNm3 congm3 congNm3 conmgdL conmmolL
currencyUSD currencyGBP currencyEUR currencyJPY currencyRUB currencyUAH currencyBRL currencyDKK
currencyISK currencyNOK currencySEK currencyCZK currencyCHF currencyPLN currencyBTC currencymBTC
currencyμBTC currencyZAR currencyINR currencyKRW
bits bytes kbytes mbytes gbytes tbytes pbytes
decbits decbytes deckbytes decmbytes decgbytes dectbytes decpbytes
pps bps Bps KBs Kbits MBs Mbits GBs Gbits TBs Tbits PBs Pbits
dateTimeAsIso dateTimeAsIsoNoDateIfToday dateTimeAsUS dateTimeAsUSNoDateIfToday dateTimeFromNow
watt kwatt megwatt gwatt mwatt Wm2 voltamp kvoltamp voltampreact kvoltampreact watth watthperkg
kwatth kwattm amph kamph mamph joule ev amp kamp mamp volt kvolt mvolt dBm ohm kohm Mohm farad
µfarad nfarad pfarad ffarad henry mhenry µhenry lumens
flowgpm flowcms flowcfs flowcfm litreh flowlpm flowmlpm lux
forceNm forcekNm forceN forcekN
Hs KHs MHs GHs THs PHs EHs
massmg massg masskg masst
lengthmm lengthft lengthm lengthkm lengthmi
pressurembar pressurebar pressurekbar pressurepa pressurehpa pressurekpa pressurehg pressurepsi
radbq radci radgy radrad radsv radmsv radusv radrem radexpckg radr radsvh radmsvh radusvh
rotrpm rothz rotrads rotdegs
celsius fahrenheit kelvin
hertz ns µs ms s m h d dtdurationms dtdurations dthms dtdhms timeticks clockms clocks
cps ops reqps rps wps iops cpm opm rpm wpm
velocityms velocitykmh velocitymph velocityknot
mlitre litre m3 Nm3 dm3 gallons
""".split())

# `<form>:<text>` units Grafana builds on the fly (a fixed prefix or suffix, SI or count scaling,
# a currency symbol, a time unit, a boolean's two words).
CUSTOM_FORMS: tuple[str, ...] = ("prefix:", "suffix:", "si:", "count:", "currency:", "time:", "bool")

# Words people write for a unit, and the id Grafana means by them.
WORDS: dict[str, str] = {
    "second": "s", "seconds": "s", "sec": "s", "secs": "s",
    "millisecond": "ms", "milliseconds": "ms", "microsecond": "µs", "microseconds": "µs", "us": "µs",
    "nanosecond": "ns", "nanoseconds": "ns", "minute": "m", "minutes": "m", "min": "m",
    "hour": "h", "hours": "h", "day": "d", "days": "d",
    "ratio": "percentunit", "fraction": "percentunit", "%": "percent", "percentage": "percent",
    "byte": "bytes", "count": "short", "number": "short", "requests": "reqps", "req/s": "reqps",
    "ops/s": "ops", "bytes/s": "Bps", "bytes/sec": "Bps",
}


def known(unit: str) -> bool:
    """Whether Grafana reads `unit` as a unit rather than showing it as literal text."""
    return unit in UNIT_IDS or unit.startswith(CUSTOM_FORMS)
