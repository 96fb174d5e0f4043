import matplotlib.pyplot as plt

x = [1, 2, 3, 4, 5, 6, 7]
temps = [12, 14, 13, 17, 19, 18, 21]

plt.plot(x, temps, marker="o", color="red")
plt.title("Temperature this week")
plt.xlabel("Day")
plt.ylabel("Degrees C")
plt.grid(True)
print("showing the plot")
plt.show()
