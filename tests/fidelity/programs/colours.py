from colorama import Fore, Style, init
from termcolor import colored
from rich.console import Console
from rich.table import Table

init()
print(Fore.RED + "Red alert!" + Style.RESET_ALL)
print(colored("Level up!", "green", attrs=["bold"]))

name = input("What is your name? ")
table = Table(title="High scores")
table.add_column("Player", style="cyan")
table.add_column("Score", justify="right", style="magenta")
table.add_row(name, "100")
table.add_row("Computer", "42")
Console().print(table)
