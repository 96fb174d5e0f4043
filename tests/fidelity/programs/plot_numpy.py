import numpy as np
import matplotlib.pyplot as plt

rolls = np.random.randint(1, 7, size=(1000, 2)).sum(axis=1)
counts = np.bincount(rolls)[2:]
print("most common total:", counts.argmax() + 2)

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
left.bar(range(2, 13), counts, color="skyblue")
left.set_title("Two dice, 1000 rolls")
x = np.linspace(0, 2 * np.pi, 100)
right.plot(x, np.sin(x), label="sin")
right.plot(x, np.cos(x), label="cos")
right.legend()
plt.tight_layout()
plt.show()
