"""How a network is named in titles, pages and summaries: one description for every place."""


def architecture(widths):
    """The widths as an arrow chain, runs of equal hidden layers as ``width×count``.

    Examples
    --------
    >>> architecture((784, 1024, 1024, 1024, 10))
    '784→1024×3→10'
    >>> architecture((2, 64, 32, 1))
    '2→64→32→1'
    """
    widths = [int(w) for w in widths]
    parts, hidden, i = [str(widths[0])], widths[1:-1], 0
    while i < len(hidden):
        j = i
        while j < len(hidden) and hidden[j] == hidden[i]:
            j += 1
        parts.append(f"{hidden[i]}×{j - i}" if j - i > 1 else str(hidden[i]))
        i = j
    parts.append(str(widths[-1]))
    return "→".join(parts)


def activation_names(net):
    """The hidden layers' activations for a title: one name when they agree, else each in order."""
    names = ["ReLU" if str(a) == "relu" else str(a) for a in net.activations]
    return names[0] if len(set(names)) == 1 else ", ".join(names)


def swept_widths(net, along):
    """The swept network's widths: along a line, its inputs are the line's, not ``t``."""
    return net.widths if along is None else (len(along[0]), *net.widths[1:])
